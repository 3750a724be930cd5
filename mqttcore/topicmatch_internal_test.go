package mqttcore

import (
	"strings"
	"testing"
)

// topicMatchesSplit is the straightforward definition topicMatches must agree with.
func topicMatchesSplit(f, t string) bool {
	if strings.HasPrefix(t, "$") && (strings.HasPrefix(f, "+") || strings.HasPrefix(f, "#")) {
		return false
	}
	fl := strings.Split(f, "/")
	tl := strings.Split(t, "/")
	for i, l := range fl {
		if l == "#" {
			return true
		}
		if i >= len(tl) {
			return false
		}
		if l != "+" && l != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}

func TestTopicMatches(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/b", "a/b", "a/+/c", "a/b/#", "+/+", "/", "/#",
		"+/", "a//b", "a/+/#", "$SYS/#", "$SYS/+", "b", "a/b/c", "+/+/+"}
	topics := []string{"a", "b", "a/b", "a/c", "a/b/c", "a/b/c/d", "/", "/a", "a/", "a//b", "$SYS/x",
		"$SYS", "b/b", "x/b", "a/x/c"}
	for _, f := range filters {
		for _, tp := range topics {
			if got, want := topicMatches(f, tp), topicMatchesSplit(f, tp); got != want {
				t.Errorf("topicMatches(%q, %q) = %v, want %v", f, tp, got, want)
			}
		}
	}
	if !topicMatches("a/#", "a") || topicMatches("+", "$x") || !topicMatches("a/+", "a/") {
		t.Error("spot checks failed")
	}
}
