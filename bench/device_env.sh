# Sourced by the scripts that run on the lent GPU (device tool): the carried wheels installed, the environment a
# sweep expects, and Python's bytecode cached. The GPU image sets PYTHONDONTWRITEBYTECODE=1 and ships no .pyc files,
# so every process would compile torch's sources when it imports them (7.5-8.6 s of a worker's start on an H100,
# results/startup_h100.md); a pip install writes the bytecode once, and this does the same before any sweep starts.
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD ALTGRAD_DATA_DIR=/tmp/altgrad_data PYTHONUNBUFFERED=1 WANDB_MODE=disabled
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX=/tmp/pycache
site_packages=$(python3 -c "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))")
python3 -m compileall -q -j 0 "$site_packages"/torch "$site_packages"/sympy "$site_packages"/triton \
  "$site_packages"/numpy /tmp/site "$PWD"/altgrad > /dev/null 2>&1
