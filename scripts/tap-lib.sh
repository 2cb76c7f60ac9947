# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# TAP output for the shell test scripts (tests/*/test-*.sh, scripts/deb.sh):
# ok / not_ok print one numbered result; TAP_FAILED counts the failures, and
# tap_exit ends the script with 1 when there was one.

TAP_N=0
TAP_FAILED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

# A plan of one skipped test: the whole script cannot run here, and says why.
tap_skip_all() {
	printf '1..1\nok 1 # SKIP %s\n' "$*"
}

tap_exit() {
	exit $((TAP_FAILED > 0))
}
