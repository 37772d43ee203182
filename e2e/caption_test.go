package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// captionClipped lists the lines of the trend table's caption that reach
// beyond the sideways-scrolling box around the table, so cannot be read
// without scrolling it, and says so if there is no caption.
const captionClipped = `(() => {
	const box = document.querySelector('.mcr-chart-table');
	const caption = box?.querySelector('table caption');
	if (!box || !caption) return ['(no table with a caption in a scrolling box)'];
	const edge = box.getBoundingClientRect();
	const visible = [...document.querySelectorAll('#results-caption, .mcr-chart-table caption')].filter(e => e.checkVisibility() && e.getBoundingClientRect().width > 1);
	if (visible.length === 0) return ['(the caption is not shown)'];
	const out = [];
	for (const e of visible) {
		const t = document.createRange();
		t.selectNodeContents(e);
		for (const b of t.getClientRects()) {
			if (b.width > 0 && (b.left < Math.floor(edge.left) || b.right > Math.ceil(edge.right) || b.right > window.innerWidth)) {
				out.push(e.textContent.trim() + ': a line from ' + Math.round(b.left) + ' to ' + Math.round(b.right) + 'px, the box ' + Math.round(edge.left) + ' to ' + Math.round(edge.right) + 'px');
			}
		}
	}
	return out;
})()`

// TestTrendCaptionOnANarrowScreen: on a 320 pixel wide screen (WCAG 1.4.10)
// the trend table scrolls sideways in its box, but the words naming it wrap
// within the box, stay in sight as the table scrolls, and are still the
// table's caption.
func TestTrendCaptionOnANarrowScreen(t *testing.T) {
	p, tb, _ := signedIn(t)
	tb.do("set a 320 pixel wide screen", chromedp.EmulateViewport(320, 640))
	tb.navigate(p.BaseURL + "/record/results")
	trend := eval[string](tb, `document.querySelector('main a[href^="/record/results/"]')?.getAttribute('href') ?? ''`)
	if trend == "" {
		t.Fatal("no trend to read")
	}
	wantPage(tb, trend, tb.navigate(p.BaseURL+trend).Status)
	if clipped := eval[[]string](tb, captionClipped); len(clipped) > 0 {
		t.Errorf("%s at 320 pixels: the table's caption is cut off: %q", trend, clipped)
	}
	// Scrolled to the table's far end, the caption is still in sight.
	if wide := eval[bool](tb, `(b => { b.scrollLeft = b.scrollWidth; return b.scrollLeft > 0; })(document.querySelector('.mcr-chart-table'))`); wide {
		if clipped := eval[[]string](tb, captionClipped); len(clipped) > 0 {
			t.Errorf("%s at 320 pixels, the table scrolled to its end: the caption is out of sight: %q", trend, clipped)
		}
	} else {
		t.Logf("%s: the table fits at 320 pixels without scrolling", trend)
	}
	if got := eval[string](tb, `document.querySelector('.mcr-chart-table table caption')?.textContent.trim() ?? ''`); got == "" {
		t.Errorf("%s: the table has no caption", trend)
	}
	tb.checkPage()
}
