#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted as .clang-format says.
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "format_check: clang-format is not installed" >&2; exit 77; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find netcore rendezvous punch sample_game tests bench -name '*.[ch]pp')
((${#files[@]} > 0)) || { echo "format_check: no files found" >&2; exit 1; }
clang-format --dry-run -Werror "${files[@]}"
echo "format_check: ${#files[@]} files formatted"
