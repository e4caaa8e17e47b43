#!/bin/bash
# The GPU stage of the default encoder (scripts/train_default.py): two adaptations of the
# default encoder side by side (batch, lr, epochs in A and B), on the pictures that
# scripts/gpu/make_bundle.py packs into .gpudata/pictures.tgz. Each stops at LIMIT seconds;
# a run stopped there leaves its last checkpoint's weights (scripts/gpu/extract.py). The
# models land in $OUT as a.safetensors / b.safetensors with their config.json.
#
# Run from the repository root on a machine with PyTorch, Lightning, timm and OpenCV; a
# missing lightly travels as a wheel in .gpudata/whl/. As run on 2026-12-04 (one H200, 16 cores):
#   LIMIT=480 W=6 CK=500 A="32 1e-4 24" B="128 2e-4 40" bash scripts/gpu/run.sh
# Rehearse on a CPU first (BLOCK=1 makes the packages that machine lacks unimportable):
#   OUT=/tmp/o PY=.venv/bin/python BLOCK=1 PICS=/tmp/few LIMIT=60 W=1 CK=2 A="2 1e-4 1" B="2 1e-4 1" bash scripts/gpu/run.sh
set -u
PY=${PY:-python3}; PICS=${PICS:-/tmp/pics}; LIMIT=${LIMIT:-480}; W=${W:-6}
if [ ! -d "$PICS" ]; then mkdir -p $PICS && tar xzf .gpudata/pictures.tgz -C $PICS; fi
ls $PICS | wc -l
if [ -d .gpudata/whl ] && ! BLOCK=${BLOCK:-} $PY -c "import os, sys; sys.path.insert(0, 'scripts/gpu'); os.environ.get('BLOCK') and __import__('block'); import lightly" 2>/dev/null; then $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpudata/whl/*.whl; fi
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi -L 2>/dev/null; $PY -c "import torch, torchvision, pytorch_lightning, timm; print(torch.__version__, torchvision.__version__, pytorch_lightning.__version__, timm.__version__, torch.cuda.is_available())"
nproc
run() { # name batch lr epochs
  local t0=$(date +%s)
  timeout $LIMIT $PY scripts/gpu/train.py train $PICS --init default --batch-size $2 --lr $3 --epochs $4 --workers $W \
    --seed 3 --checkpoint-every ${CK:-500} --out /tmp/m-$1 > /tmp/$1.log 2>&1
  echo "$1 rc=$? seconds=$(( $(date +%s) - t0 ))" | tee -a /tmp/$1.log
  if [ ! -f /tmp/m-$1/model.safetensors ]; then
    $PY scripts/gpu/extract.py /tmp/m-$1/checkpoints/last.ckpt /tmp/m-$1 2>&1 | tail -2 | tee -a /tmp/$1.log
  fi
  cp /tmp/m-$1/model.safetensors $OUT/$1.safetensors; cp /tmp/m-$1/config.json $OUT/$1.json
}
run a ${A:-32 1e-4 24} &
run b ${B:-128 2e-4 40} &
wait
for n in a b; do echo "== $n"; tr '\r' '\n' < /tmp/$n.log | grep -v '^Epoch.*it/s' ; tr '\r' '\n' < /tmp/$n.log | grep '^Epoch' | awk 'NR%200==0' ; done > $OUT/logs.txt
ls -la $OUT; tail -c 3000 $OUT/logs.txt
