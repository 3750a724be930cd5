package testbroker

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
)

// passwordLine returns "user:$7$101$salt$hash", mosquitto 2's PBKDF2-SHA512
// password_file entry (what `mosquitto_passwd -b` writes).
func passwordLine(user, password string) (string, error) {
	const iterations = 101
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, sha512.Size)
	if err != nil {
		return "", fmt.Errorf("testbroker: pbkdf2: %w", err)
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$7$%d$%s$%s", user, iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}
