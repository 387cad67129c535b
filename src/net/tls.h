#pragma once
// Encrypted gRPC connections bound to peer identities, with no certificate
// authority. A peer's TLS certificate is self-signed by its own Ed25519
// identity key (the certificate's key is the identity key), so the key a
// server proves it holds during the handshake is the key its peer id is the
// hash of. A client dials a server for a peer id it learnt elsewhere (the
// DHT, --initial-peers) and accepts the connection only when the server's
// certificate hashes to that id: a man in the middle, a stale address now
// served by someone else, or a server that lies about who it is all fail the
// handshake, before any request is sent.
//
// Only the server authenticates; clients present no certificate. The
// certificate's validity dates are not checked: the binding is the key, and
// an identity does not expire.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "net/identity.h"

namespace brigade {

// A certificate and its private key, both PEM. The key is the identity's
// secret: keep it in memory, never write or send it.
struct TlsCertificate {
  std::string cert_pem;
  std::string key_pem;
};

// A fresh self-signed X.509 certificate for `identity`: its key is the
// identity's Ed25519 key, its subject CN and DNS name are the peer id, its
// serial is random and it is valid from a day ago for ten years. Two calls
// give different certificates (serial, dates) for the same peer id.
TlsCertificate make_certificate(const Identity& identity);

// The peer id of the key a PEM certificate carries, after checking that the
// key is Ed25519 and that the certificate is signed by that same key. Throws
// Error naming the problem: kInvalid for text that is not such a
// certificate, kMisbehaved for a self-signature that does not verify (an
// edited certificate).
std::string peer_id_of_certificate(const std::string& cert_pem);

// How peers talk. TLS always, unless both ends are told `--plaintext`: no
// encryption and no check of who answers, for measuring what TLS costs and
// for closed networks. A plaintext end cannot talk to a TLS one.
enum class Transport { kTls, kPlaintext };

// The expected peer id of a channel to whichever identity answers: still
// encrypted, but not authenticated. For tools and tests that learn who a
// server is from the server itself. Not a peer id (those are hex), so an
// empty or made-up id from a peer's message never means "anyone".
inline const std::string kAnyPeer = "*";

// Credentials for a server that proves it is `identity`: TLS (1.2 or 1.3)
// with a certificate from make_certificate(). Clients need no certificate;
// a plaintext client fails to connect. kPlaintext: none of it.
std::shared_ptr<grpc::ServerCredentials> server_credentials(const Identity& identity,
                                                            Transport transport = Transport::kTls);

// Credentials for a channel that accepts only the server whose certificate
// is peer `expected_peer_id`'s (see peer_id_of_certificate()), or any
// valid peer certificate for kAnyPeer. The address
// dialled plays no part, so a tunnel or --connect-via needs nothing more. A
// refused server fails every call on the channel with UNAVAILABLE, and the
// status message names both ids. Use tls_channel(), which adds the server
// name, unless you build the channel yourself.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const std::string& expected_peer_id);

// A channel to `address` with channel_credentials(expected_peer_id) that also
// sends the peer id as the TLS server name (SNI), the DNS name its
// certificate carries. Without it gRPC sends the dialled host, which matches
// no certificate: the connection still works, but the server's gRPC logs "No
// match found for server name" at error level for every connection.
// kPlaintext: an unencrypted channel, whoever answers.
std::shared_ptr<grpc::Channel> dial(const std::string& address, const std::string& expected_peer_id,
                                    grpc::ChannelArguments args,
                                    Transport transport = Transport::kTls);

}  // namespace brigade
