# Sourced by the verdict commands with their first argument: sets `methods`,
# `compare` (the --compare-with arguments) and `suffix` (of the result file).
# `baselines` selects the methods without GML: they do not wait for what the
# design studies ship, and the full command reads them back.
methods='ce lace cwce cwce-prior focal ohem lovasz blv seesaw rr rfs'
if [ "$1" = baselines ]; then
  compare=()
  suffix=-baselines
else
  methods+=' gml gml-shared gml-rfs gml-cw gml-2stage gml-posthoc'
  compare=(--compare-with gml gml-cw)
  suffix=
fi
