package broker

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// LoadUsersFile reads a users file for Config.Users: one "user:password" per
// line, split at the first colon. Spaces around the user name are dropped;
// the password is taken as is, up to the end of the line (it may contain
// colons and spaces). Blank lines and lines whose first
// non-space character is '#' are skipped; a trailing "\r" is dropped. A line
// without a colon, an empty user name or a repeated user is an error naming
// the line. The passwords are plain text, so keep the file private.
func LoadUsersFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("broker: users file: %w", err)
	}
	return ParseUsers(data, path)
}

// ParseUsers parses the users file format of LoadUsersFile from data; name
// is used in error messages.
func ParseUsers(data []byte, name string) (map[string]string, error) {
	users := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		user = strings.TrimSpace(user)
		if !ok {
			return nil, fmt.Errorf("broker: %s:%d: want user:password", name, n)
		}
		if user == "" {
			return nil, fmt.Errorf("broker: %s:%d: empty user name", name, n)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("broker: %s:%d: user %q listed twice", name, n, user)
		}
		users[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("broker: %s: %w", name, err)
	}
	return users, nil
}
