# Draws the call-path figures from the benchmark's JSON (its "ratios" array, joined by label
# in rows.jq): time per call on the left, the ratio to each row's baseline on the right, with
# the targets.
# gnuplot -e "before='before.json'; after='after.json'; rows_jq='rows.jq'; out='call-path.svg'" plot.gp
# (`after` may be left out; run.sh passes whatever JSON files exist.)

has_after = exists("after")
if (!has_after) after = before
if (!exists("rows_jq")) rows_jq = "rows.jq"
rows(what) = sprintf("< jq -rn --slurpfile before '%s' --slurpfile after '%s' --arg what %s -f '%s'", before, after, what, rows_jq)

set terminal svg size 1100,520 dynamic font "sans,11" background rgb "white"
set output out
set datafile separator "\t"
set datafile missing "NaN"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right horizontal
set termoption noenhanced
set xtics rotate by -30 left nomirror
set multiplot layout 1,2 title "cordon call path, median CPU time of 5 repetitions (shared 2-core VM)"

set title "time per call (ns, log scale)"
set logscale y
set yrange [0.1:30000]
if (!has_after) {
    plot rows("time") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         "" using 0:4 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
} else {
    plot rows("time") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         "" using 3 title "after" lc rgb "#1565c0", \
         "" using 0:4 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
}

set title "ratio to the baseline (log scale)"
set yrange [0.5:30000]
if (!has_after) {
    plot rows("ratio") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         "" using 0:4 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
} else {
    plot rows("ratio") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         "" using 3 title "after" lc rgb "#1565c0", \
         "" using 0:4 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
}
unset multiplot
