_base_ = ['./_base_.py']
model = _base_.teacher_model
