# The rows plot.gp draws, one per plot label found in either JSON (after's order, then the
# labels only before has), each with before's value, after's and the target ("NaN" where a file
# has no such row), so bars of one label stay side by side when a run adds rows.
#   jq -rn --slurpfile before B.json --slurpfile after A.json --arg what time|ratio -f rows.jq
def rows($file): $file[0].ratios | map(select(.plot != "" and ($what == "time" or .max_ratio != null)));
def value: if $what == "time" then .time_ns else .ratio end;
def target: if $what == "time" then .max_ns else .max_ratio end;

rows($before) as $b | rows($after) as $a
| reduce (($a + $b)[] | .plot) as $p ([]; if any(.[]; . == $p) then . else . + [$p] end)
| .[] as $p
| ($b | map(select(.plot == $p)) | first) as $in_before
| ($a | map(select(.plot == $p)) | first) as $in_after
| [$p, ($in_before | value // "NaN"), ($in_after | value // "NaN"), (($in_after // $in_before) | target // "NaN")]
| @tsv
