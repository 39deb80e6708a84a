#!/bin/bash
# The GPU checks recorded in docs/gpu.md, as run on a lent GPU machine through the device tool.
# Run from the template's root with a default bake in .gpu/digit-classifier and, where the machine
# lacks jsonargparse, its wheels in .whl/; results go to $OUT.
set -u
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD/.gpu/digit-classifier/src PYTHONUNBUFFERED=1
cd .gpu/digit-classifier
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, lightning; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'lightning', lightning.__version__)"
  nproc; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
# Two turns of each loop (bench takes three by default): the best of two, within the lent time. The
# compile setting is left out: each turn compiles afresh, minutes of the lent time (measured before).
timeout 300 python3 -m digit_classifier bench --settings fp32 bf16 fp16 --warmup 15 --steps 60 \
  --repeats 2 > "$OUT/bench-full.txt" 2> "$OUT/bench.err"
grep -aE "^(device|workload|project|cnn|gpt) " "$OUT/bench-full.txt" | tee "$OUT/bench.txt"
timeout 180 python3 -m pytest -q -p no:cacheprovider -rs tests/test_gpu.py tests/test_cli.py > "$OUT/pytest.txt" 2>&1
tail -4 "$OUT/pytest.txt"
for presets in "gpu" "gpu bf16" "ddp bf16"; do
  args=""; for p in $presets; do args="$args --preset $p"; done
  start=$(date +%s%N)
  out=$(timeout 90 python3 -m digit_classifier fit $args --trainer.enable_progress_bar=false --trainer.enable_model_summary=false 2>&1)
  rc=$?; end=$(date +%s%N)
  best=$(echo "$out" | grep -a "Best checkpoint" | sed 's/.*(\(.*\))/\1/')
  echo "presets [$presets] rc=$rc wall=$(( (end - start) / 1000000 )) ms best_val_acc=$best"
done | tee "$OUT/presets.txt"
