#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs each selftest program given, printing a line of counts for each (its
# suite), then one kselftest totals line summed over all of them. Exits
# non-zero if any program failed. scripts/selftests-summary reads the lines.
pass=0 fail=0 skip=0 rc=0
for prog in "$@"; do
	out=$("$prog" 2>&1) || rc=1
	printf '%s\n' "$out"
	totals=$(printf '%s\n' "$out" | grep '^# Totals:' | tail -n 1)
	if [ -z "$totals" ]; then
		echo "not ok: $prog printed no totals" >&2
		rc=1
		fail=$((fail + 1))
		continue
	fi
	p=$(sed -n 's/.*Totals: pass:\([0-9]*\).*/\1/p' <<<"$totals")
	f=$(sed -n 's/.* fail:\([0-9]*\).*/\1/p' <<<"$totals")
	e=$(sed -n 's/.* error:\([0-9]*\).*/\1/p' <<<"$totals")
	s=$(sed -n 's/.* skip:\([0-9]*\).*/\1/p' <<<"$totals")
	echo "# fastipc suite ${prog##*/selftests/}: pass:$p fail:$((f + e)) skip:$s"
	pass=$((pass + p))
	fail=$((fail + f + e))
	skip=$((skip + s))
done
echo "# fastipc selftests totals: pass:$pass fail:$fail skip:$skip"
exit $rc
