package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the secret-encryption key (AES-256).
const KeySize = 32

// LoadOrCreateKey reads the secret-encryption key from path (64 hex
// characters, or 32 raw bytes), creating the file with a new random key and
// mode 0600 when it does not exist. Losing this file makes every stored
// webhook secret unreadable, so it belongs in the data directory that is
// backed up with the database.
func LoadOrCreateKey(path string) ([]byte, error) {
	if k, err := ReadKey(path); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the folder of the webhook key %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating the webhook key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the webhook key %s: %w", path, err)
		}
		return parseKey(path, b)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the webhook key %s: %w", path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("writing the webhook key %s: %w", path, err)
	}
	return key, nil
}

// ReadKey reads the secret-encryption key file written by LoadOrCreateKey.
// A missing file is an error matching fs.ErrNotExist.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the webhook key %s: %w", path, err)
	}
	return parseKey(path, b)
}

// ParseKey decodes a secret-encryption key given as 64 hex characters (as
// FACTFLOW_SECRET_KEY holds it). The error never quotes the value.
func ParseKey(hexKey string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(hexKey))
	if err != nil || len(k) != KeySize {
		return nil, invalid(CodeKeyInvalid, fmt.Sprintf("the secret key is not %d hex characters (%d bytes)", 2*KeySize, KeySize),
			"generate one with `openssl rand -hex 32`")
	}
	return k, nil
}

func parseKey(path string, b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return b, nil
	}
	s := strings.TrimSpace(string(b))
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	return nil, invalid(CodeKeyInvalid, fmt.Sprintf("the webhook key file %s does not hold a %d-byte key", path, KeySize),
		"restore the key file from a backup; a new key cannot read the secrets already stored")
}

// GenerateSecret returns 32 random bytes as hex.
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a webhook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, invalid(CodeKeyInvalid, fmt.Sprintf("the webhook key has %d bytes, want %d", len(key), KeySize),
			"load the key with LoadOrCreateKey")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating the webhook secret cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating the webhook secret cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts secret bound to its subscription id (as associated data),
// so a ciphertext copied onto another subscription does not decrypt.
func (s *sealer) seal(subscriptionID, secret string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generating a nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(subscriptionID)), nil
}

func (s *sealer) open(subscriptionID string, ciphertext []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n {
		return "", invalid(CodeSecretUnreadable, "the stored webhook secret is truncated", "rotate the secret")
	}
	plain, err := s.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(subscriptionID))
	if err != nil {
		// Deliberately without the cause: nothing about the secret leaks.
		return "", invalid(CodeSecretUnreadable, "the stored webhook secret cannot be decrypted with this key",
			"use the key file the secret was created with, or rotate the secret")
	}
	return string(plain), nil
}
