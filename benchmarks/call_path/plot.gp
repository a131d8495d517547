# Draws the call-path figures from the benchmark's JSON (its "ratios" array, read through jq):
# time per call on the left, the ratio to each row's baseline on the right, with the targets.
# gnuplot -e "before='before.json'; after='after.json'; out='call-path.svg'" plot.gp
# (`after` may be left out; run.sh passes whatever JSON files exist.)

if (!exists("after")) after = ""
rows(file, what) = sprintf("< jq -r '.ratios[] | select(.plot != \"\") | [.plot, %s] | @tsv' '%s'", what, file)
ratio_rows(file) = sprintf("< jq -r '.ratios[] | select(.plot != \"\" and .max_ratio != null) | [.plot, .ratio, .max_ratio] | @tsv' '%s'", file)

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
if (after eq "") {
    plot rows(before, ".time_ns") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         rows(before, "(.max_ns // \"NaN\")") using 0:2 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
} else {
    plot rows(before, ".time_ns") using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         rows(after, ".time_ns") using 2 title "after" lc rgb "#1565c0", \
         rows(after, "(.max_ns // \"NaN\")") using 0:2 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
}

set title "ratio to the baseline (log scale)"
set yrange [0.5:30000]
if (after eq "") {
    plot ratio_rows(before) using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         ratio_rows(before) using 0:3 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
} else {
    plot ratio_rows(before) using 2:xtic(1) title "before" lc rgb "#9e9e9e", \
         ratio_rows(after) using 2 title "after" lc rgb "#1565c0", \
         ratio_rows(after) using 0:3 with points pt 9 ps 1.6 lc rgb "#c62828" title "target"
}
unset multiplot
