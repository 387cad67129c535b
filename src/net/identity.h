#pragma once
// Peer identities and the cryptography every component shares (libsodium):
// Ed25519 keys and signatures, BLAKE2b digests, hex. A peer id is the hex of
// the BLAKE2b-160 of the public key, so it cannot be claimed without the key.

#include <filesystem>
#include <string>
#include <string_view>

namespace brigade {

// BLAKE2b-256 of `bytes`, as 32 raw bytes.
std::string digest(std::string_view bytes);
std::string to_hex(std::string_view bytes);
// Throws Error on odd length or a non-hex character.
std::string from_hex(std::string_view hex);

std::string peer_id_of(std::string_view public_key);
// False on a malformed key or signature, never throws.
bool verify_signature(std::string_view public_key, std::string_view message,
                      std::string_view signature);

class Identity {
 public:
  // A fresh random identity.
  static Identity generate();
  // Loads the secret key from `path` (hex), creating the file (mode 0600)
  // with a fresh identity when it does not exist. Throws Error naming the
  // file when it exists but is not a valid key.
  static Identity load_or_create(const std::filesystem::path& path);

  const std::string& public_key() const { return public_key_; }  // 32 raw bytes
  const std::string& peer_id() const { return peer_id_; }
  std::string sign(std::string_view message) const;  // 64 raw bytes
  // The 32-byte seed the key pair derives from, i.e. the secret itself: only
  // for handing the key to another library (the TLS certificate, net/tls.h).
  // Never send or log it.
  std::string seed() const;

 private:
  std::string secret_key_;  // 64 raw bytes (libsodium's seed + public key)
  std::string public_key_;
  std::string peer_id_;
};

}  // namespace brigade
