//go:build linux

package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// How the soak is judged (soakSeriesOf lists the series). The first fifth of the samples is warm-up (pools fill,
// caches and the heap reach their working size) and is not judged. A series' level
// early on is the median of the second fifth, its level at the end the median of the
// last fifth: medians, so that a burst (a GC cycle, another job's load on the shared
// machine) moves neither, while a leak — a rise that lasts — moves the second. The
// growth is (end − early) / early, and must stay within soakMaxGrowth; a count (file
// descriptors, goroutines, connections) may also rise by one, its resolution.
const (
	soakMaxGrowth = 0.05
	// soakMaxP99Rise bounds the rise of the p99 latency (median of the windows' p99 in
	// the last fifth over that in the second fifth): latency on a shared 2-core machine
	// moves with the other jobs far more than memory does.
	soakMaxP99Rise = 0.25
	// soakMinRate is the share of the offered rate the judged windows must achieve.
	soakMinRate = 0.95
)

// soakLevel is a series' early and end levels.
type soakLevel struct {
	Early, End float64
}

// Growth is the relative rise from Early to End (0 when both are 0).
func (l soakLevel) Growth() float64 {
	if l.Early == 0 {
		if l.End == 0 {
			return 0
		}
		return 1
	}
	return (l.End - l.Early) / l.Early
}

var errFewSamples = errors.New("too few samples to judge: at least 5 (one per fifth)")

// soakLevels is the median of the second fifth of xs and of the last fifth.
func soakLevels(xs []float64) (soakLevel, error) {
	n := len(xs)
	if n < 5 {
		return soakLevel{}, errFewSamples
	}
	return soakLevel{Early: median(xs[n/5 : 2*n/5]), End: median(xs[n-n/5:])}, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// soakSeries is one judged series of the samples.
type soakSeries struct {
	Name  string
	Count bool // a count: may also rise by one
	Of    func(soakSample) float64
}

// soakSeriesOf lists what is judged flat: each replica's RSS, the replicas' goroutines
// and open files together, and the database's connections. Goroutines and open files
// are summed because they follow the customers: a customer whose request failed goes to
// the next replica with its socket, and the next sample finds one replica's count up by
// as much as another's went down, with nothing leaked.
func soakSeriesOf(replicas int) []soakSeries {
	var out []soakSeries
	for i := range replicas {
		out = append(out, soakSeries{Name: fmt.Sprintf("replica %d RSS MiB", i), Of: func(s soakSample) float64 { return s.RSS[i] }})
	}
	return append(out,
		soakSeries{Name: "goroutines, all replicas", Count: true, Of: func(s soakSample) float64 { return sum(s.Goroutines) }},
		soakSeries{Name: "open files, all replicas", Count: true, Of: func(s soakSample) float64 { return sum(s.FDs) }},
		soakSeries{Name: "PostgreSQL connections", Count: true, Of: func(s soakSample) float64 { return s.PGConns }})
}

func column(samples []soakSample, of func(soakSample) float64) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		out[i] = of(s)
	}
	return out
}

// soakVerdict is the judgement of a soak's samples: one line per series, and what
// breaks the limits.
type soakVerdict struct {
	Lines    []string
	Failures []string
	Rate     float64 // turns/s achieved after warm-up
	P99      soakLevel
}

// judgeSoak applies the limits above to samples of a soak offered at rate turns/s.
func judgeSoak(samples []soakSample, replicas int, rate float64) (soakVerdict, error) {
	var v soakVerdict
	for _, s := range soakSeriesOf(replicas) {
		lv, err := soakLevels(column(samples, s.Of))
		if err != nil {
			return v, err
		}
		v.Lines = append(v.Lines, fmt.Sprintf("%s: %.1f → %.1f (%+.1f %%)", s.Name, lv.Early, lv.End, 100*lv.Growth()))
		allowed := soakMaxGrowth * lv.Early
		if s.Count {
			allowed = max(allowed, 1)
		}
		if lv.End-lv.Early > allowed {
			v.Failures = append(v.Failures, fmt.Sprintf("%s grew from %.1f to %.1f (%+.1f %%) after warm-up; at most %.0f %%",
				s.Name, lv.Early, lv.End, 100*lv.Growth(), 100*soakMaxGrowth))
		}
	}
	var err error
	if v.P99, err = soakLevels(column(samples, func(s soakSample) float64 { return s.P99 })); err != nil {
		return v, err
	}
	v.Lines = append(v.Lines, fmt.Sprintf("p99 ms: %.0f → %.0f (%+.1f %%)", v.P99.Early, v.P99.End, 100*v.P99.Growth()))
	if v.P99.Growth() > soakMaxP99Rise {
		v.Failures = append(v.Failures, fmt.Sprintf("p99 rose from %.0f to %.0f ms (%+.0f %%) after warm-up; at most %+.0f %%",
			v.P99.Early, v.P99.End, 100*v.P99.Growth(), 100*soakMaxP99Rise))
	}
	v.Lines = append(v.Lines, soakFifths(samples)...)
	judged := samples[len(samples)/5:]
	turns, from := 0, samples[len(samples)/5-1].At
	if len(samples)/5 == 0 {
		from = 0
	}
	for _, s := range judged {
		turns += s.Turns
	}
	v.Rate = float64(turns) / (samples[len(samples)-1].At - from).Seconds()
	v.Lines = append(v.Lines, fmt.Sprintf("rate after warm-up: %.1f turns/s of %.0f offered", v.Rate, rate))
	if v.Rate < soakMinRate*rate {
		v.Failures = append(v.Failures, fmt.Sprintf("%.1f turns/s achieved after warm-up; offered %.0f/s, at least %.0f %% wanted",
			v.Rate, rate, 100*soakMinRate))
	}
	return v, nil
}

// soakFifths summarises each fifth of the run: its rate, the median and the highest of
// its windows' p99, and the machine's load average.
func soakFifths(samples []soakSample) []string {
	var out []string
	n := len(samples)
	for k := range 5 {
		part := samples[k*n/5 : (k+1)*n/5]
		turns, p99s, loads := 0, column(part, func(s soakSample) float64 { return s.P99 }), column(part, func(s soakSample) float64 { return s.Load1 })
		for _, s := range part {
			turns += s.Turns
		}
		from := time.Duration(0)
		if k*n/5 > 0 {
			from = samples[k*n/5-1].At
		}
		to := part[len(part)-1].At
		out = append(out, fmt.Sprintf("fifth %d (%s–%s): %.1f turns/s, p99 median %.0f ms, max %.0f ms, load average %.1f–%.1f",
			k+1, from.Round(time.Second), to.Round(time.Second), float64(turns)/(to-from).Seconds(), median(p99s), slices.Max(p99s),
			slices.Min(loads), slices.Max(loads)))
	}
	return out
}

// writeSoakCSV writes one row per sample.
func writeSoakCSV(path string, samples []soakSample, replicas int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	head := []string{"seconds", "turns_per_s", "p50_ms", "p99_ms", "pg_connections", "load1", "load_generator_cpu_pct"}
	for _, m := range []string{"rss_mib", "goroutines", "open_files", "cpu_pct"} {
		for i := range replicas {
			head = append(head, fmt.Sprintf("%s_%d", m, i))
		}
	}
	w.Write(head)
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, s := range samples {
		row := []string{num(s.At.Seconds()), num(round1(s.Rate)), num(s.P50), num(s.P99), num(s.PGConns), num(s.Load1), num(round1(s.GenCPU))}
		for _, xs := range [][]float64{s.RSS, s.Goroutines, s.FDs, s.CPU} {
			for _, x := range xs {
				row = append(row, num(round1(x)))
			}
		}
		w.Write(row)
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// plotSoak draws the samples' series over time, one panel each, into path (its
// extension picks the format: svg, png, pdf), with the end of the warm-up marked.
func plotSoak(path, title string, samples []soakSample, replicas int, rate float64) error {
	minutes := func(s soakSample) float64 { return s.At.Minutes() }
	perReplica := func(of func(soakSample) []float64) []func(soakSample) float64 {
		var out []func(soakSample) float64
		for i := range replicas {
			out = append(out, func(s soakSample) float64 { return of(s)[i] })
		}
		return out
	}
	names := make([]string, replicas)
	for i := range names {
		names[i] = fmt.Sprintf("replica %d", i)
	}
	panels := []struct {
		title string
		names []string
		ys    []func(soakSample) float64
	}{
		{"RSS (MiB)", names, perReplica(func(s soakSample) []float64 { return s.RSS })},
		{"goroutines", names, perReplica(func(s soakSample) []float64 { return s.Goroutines })},
		{"open files", names, perReplica(func(s soakSample) []float64 { return s.FDs })},
		{"CPU (% of one core)", append(slices.Clone(names), "load generator"),
			append(perReplica(func(s soakSample) []float64 { return s.CPU }), func(s soakSample) float64 { return s.GenCPU })},
		{"PostgreSQL connections", []string{"database"}, []func(soakSample) float64{func(s soakSample) float64 { return s.PGConns }}},
		{fmt.Sprintf("turns/s (offered %.0f)", rate), []string{"acknowledged"}, []func(soakSample) float64{func(s soakSample) float64 { return s.Rate }}},
		{"turn latency (ms)", []string{"p99", "p50"}, []func(soakSample) float64{func(s soakSample) float64 { return s.P99 }, func(s soakSample) float64 { return s.P50 }}},
		{"load average (1 min, 2 cores)", []string{"machine"}, []func(soakSample) float64{func(s soakSample) float64 { return s.Load1 }}},
	}
	const cols = 2
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	warm := samples[len(samples)/5].At.Minutes()
	for k, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = "minutes"
		p.X.Min, p.Y.Min = 0, 0
		p.Legend.Top = true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		for j, y := range pn.ys {
			xys := make(plotter.XYs, len(samples))
			for i, s := range samples {
				xys[i] = plotter.XY{X: minutes(s), Y: y(s)}
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return err
			}
			line.Color = plotutil.Color(j)
			p.Add(line)
			if len(pn.ys) > 1 {
				p.Legend.Add(pn.names[j], line)
			}
		}
		p.Add(plotter.NewGrid())
		if len(pn.ys) > 1 { // room above the lines for the legend
			p.Y.Max *= 1.35
		}
		mark, err := plotter.NewLine(plotter.XYs{{X: warm, Y: 0}, {X: warm, Y: p.Y.Max}})
		if err != nil {
			return err
		}
		mark.Color, mark.Dashes = color.Gray{Y: 128}, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(mark)
		grid[k/cols] = append(grid[k/cols], p)
	}
	img, err := draw.NewFormattedCanvas(22*vg.Centimeter, vg.Length(rows)*6*vg.Centimeter, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return err
	}
	dc := draw.New(img)
	head := dc
	head.Min.Y = dc.Max.Y - vg.Centimeter
	dc.Max.Y = head.Min.Y
	head.FillText(draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 11), XAlign: draw.XCenter, YAlign: draw.YCenter,
		Handler: plot.DefaultTextHandler}, vg.Point{X: (head.Min.X + head.Max.X) / 2, Y: (head.Min.Y + head.Max.Y) / 2}, title)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter / 2, PadLeft: vg.Millimeter * 2,
		PadRight: vg.Millimeter * 4, PadBottom: vg.Millimeter * 2}
	for r, row := range plot.Align(grid, tiles, dc) {
		for c, cv := range row {
			if c < len(grid[r]) {
				grid[r][c].Draw(cv)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
