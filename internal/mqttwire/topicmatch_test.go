package mqttwire

import (
	"strings"
	"testing"
)

// topicMatchesSplit is the straightforward definition TopicMatch must agree with.
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

func TestTopicMatch(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/b", "a/b", "a/+/c", "a/b/#", "+/+", "/", "/#",
		"+/", "a//b", "a/+/#", "$SYS/#", "$SYS/+", "b", "a/b/c", "+/+/+"}
	topics := []string{"a", "b", "a/b", "a/c", "a/b/c", "a/b/c/d", "/", "/a", "a/", "a//b", "$SYS/x",
		"$SYS", "b/b", "x/b", "a/x/c"}
	for _, f := range filters {
		for _, tp := range topics {
			if got, want := TopicMatch(f, tp), topicMatchesSplit(f, tp); got != want {
				t.Errorf("TopicMatch(%q, %q) = %v, want %v", f, tp, got, want)
			}
		}
	}
	if !TopicMatch("a/#", "a") || TopicMatch("+", "$x") || !TopicMatch("a/+", "a/") {
		t.Error("spot checks failed")
	}
}
