# Sourced by the GPU scripts (`source "$(dirname "$0")/common.sh" "$@"`): work from the
# repository root with its code importable, and read the one option they take
# (--rehearse: the same steps on the CPU, shortened), into $rehearse.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
rehearse=0
case "${1:-}" in
  "") ;;
  --rehearse) rehearse=1 ;;
  *) echo "usage: $0 [--rehearse]" >&2; exit 2 ;;
esac
