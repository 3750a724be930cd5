package reporttest

import (
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// All returns the elements under n for which match is true, in document order.
func All(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

// Attr returns n's attribute key, or "".
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// HasClass matches elements whose class list holds c.
func HasClass(c string) func(*html.Node) bool {
	return func(n *html.Node) bool { return slices.Contains(strings.Fields(Attr(n, "class")), c) }
}

// HasAttr matches elements whose attribute key is val.
func HasAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { return Attr(n, key) == val }
}

// ByID returns the element with id, or nil.
func ByID(n *html.Node, id string) *html.Node {
	if all := All(n, HasAttr("id", id)); len(all) > 0 {
		return all[0]
	}
	return nil
}

// Text returns the text content of n.
func Text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// Cells returns the texts of a table row's cells.
func Cells(tr *html.Node) []string {
	var out []string
	for _, c := range All(tr, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
		out = append(out, strings.TrimSpace(Text(c)))
	}
	return out
}
