_base_ = ['./_base_.py']
model = _base_.student_model
