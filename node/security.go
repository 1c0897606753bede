package node

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Cluster security. Everything derives from the cluster secret, so nodes
// need nothing but the secret to trust each other:
//
//   - gossip: memberlist's keyring encryption (AES-GCM) with a 32-byte key
//     derived from the secret by HKDF-SHA256; a process without the key can
//     neither read nor inject membership messages;
//   - remote (gRPC): mutual TLS 1.3. An ed25519 CA key is derived from the
//     secret (HKDF-SHA256 output used as the ed25519 seed), and every node
//     builds the same CA certificate from it, byte for byte. At start each
//     node issues itself a short-lived certificate signed by that CA; both
//     ends of a connection require and verify the peer's chain, so a
//     process without the secret cannot deliver a message to an actor.

// tlsServerName is the DNS name in every node certificate; clients verify
// it instead of the peer's host, since nodes are reached by IP.
const tlsServerName = "enode"

// deriveKey returns n bytes derived from the secret for one purpose.
func deriveKey(secret []byte, purpose string, n int) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, []byte("enode cluster secret v1"), purpose, n)
}

// gossipKey is the memberlist encryption key (AES-256).
func gossipKey(secret []byte) ([]byte, error) { return deriveKey(secret, "memberlist key", 32) }

// clusterCA builds the cluster's CA certificate and key from the secret.
// The certificate is deterministic: fixed serial, validity and names, and
// ed25519 signatures are deterministic too.
func clusterCA(secret []byte) (*x509.Certificate, ed25519.PrivateKey, error) {
	seed, err := deriveKey(secret, "ca ed25519 seed", ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	skid := sha256.Sum256(pub)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "enode cluster CA"},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		SubjectKeyId:          skid[:20],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

// certIssuer hands out the node's own certificate, reissuing it when half
// of its lifetime is gone. It is safe for concurrent use (TLS handshakes
// call it from many goroutines).
type certIssuer struct {
	ca       *x509.Certificate
	caKey    ed25519.PrivateKey
	name     string
	lifetime time.Duration
	now      func() time.Time

	mu      sync.Mutex
	current *tls.Certificate
	renewAt time.Time
}

func (ci *certIssuer) get() (*tls.Certificate, error) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	now := ci.now()
	if ci.current != nil && now.Before(ci.renewAt) {
		return ci.current, nil
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: ci.name},
		DNSNames:     []string{tlsServerName},
		NotBefore:    now.Add(-time.Minute), // tolerate small clock skew
		NotAfter:     now.Add(ci.lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ci.ca, pub, ci.caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ci.current = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	ci.renewAt = now.Add(ci.lifetime / 2)
	return ci.current, nil
}

// clusterTLS returns the server and client TLS configurations of a node of
// the cluster with this secret.
func clusterTLS(secret []byte, nodeName string, lifetime time.Duration) (server, client *tls.Config, err error) {
	ca, caKey, err := clusterCA(secret)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster CA: %w", err)
	}
	ci := &certIssuer{ca: ca, caKey: caKey, name: nodeName, lifetime: lifetime, now: time.Now}
	if _, err := ci.get(); err != nil {
		return nil, nil, fmt.Errorf("node certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	server = &tls.Config{
		MinVersion:     tls.VersionTLS13,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      pool,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return ci.get() },
	}
	client = &tls.Config{
		MinVersion:           tls.VersionTLS13,
		RootCAs:              pool,
		ServerName:           tlsServerName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return ci.get() },
	}
	return server, client, nil
}
