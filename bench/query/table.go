package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// printTable prints one row per kind, then the errors and count mismatches.
func printTable(out io.Writer, results []result) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kind\troute\truns\tresults\tstore p50\tstore p99\tAPI p50\tAPI p99\toverhead\toverhead %\tbudget p99\tverdict\t")
	for _, r := range results {
		verdict := "ok"
		switch {
		case r.err != nil:
			verdict = "ERROR"
		case quantile(r.api, 0.99) >= r.budget:
			verdict = "FAIL"
		}
		if len(r.store) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t0\t-\t-\t-\t-\t-\t-\t-\t%s\t%s\t\n", r.kind, r.route, ms(r.budget), verdict)
			continue
		}
		sp50, ap50 := quantile(r.store, 0.5), quantile(r.api, 0.5)
		over := ap50 - sp50
		pct := "-"
		if sp50 > 0 {
			pct = fmt.Sprintf("%+.0f%%", 100*float64(over)/float64(sp50))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%+.2f\t%s\t%s\t%s\t\n",
			r.kind, r.route, len(r.store), float64(r.results)/float64(len(r.store)),
			ms(sp50), ms(quantile(r.store, 0.99)), ms(ap50), ms(quantile(r.api, 0.99)),
			float64(over)/1e6, pct, ms(r.budget), verdict)
	}
	_ = tw.Flush()
	fmt.Fprintln(out, "# times in ms; results: mean traces, spans, edges or series per storage call; overhead: API p50 - store p50")
	for _, r := range results {
		if r.mismatches > 0 {
			fmt.Fprintf(out, "# %s: %d of %d runs answered another count through the API than from storage, first: %s\n",
				r.kind, r.mismatches, len(r.store), r.mismatch)
		}
	}
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(out, "# %s: ERROR %v\n", r.kind, r.err)
		}
	}
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }
