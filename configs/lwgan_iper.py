# Short name users type: `python tools/train.py configs/lwgan_iper.py`.
# The released recipe: configs/lwgan/lwgan_lwb_1xb4-30e_iper-256.py
_base_ = ['./lwgan/lwgan_lwb_1xb4-30e_iper-256.py']
