# gml_resnet32-resnet56_1xb128-200e_cifar100lt-r100.py with imbalance factor
# 50.
_base_ = ['./gml_resnet32-resnet56_1xb128-200e_cifar100lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_factor=50))

model = dict(
    teacher=dict(
        checkpoint=('work_dirs/'
                    'gml-teacher_resnet56_1xb128-200e_cifar100lt-r50/'
                    'epoch_200.pth')))
