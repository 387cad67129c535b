#include "net/identity.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace brigade {
namespace {

void ensure_sodium() {
  static const int ready = sodium_init();
  require(ready >= 0, "libsodium failed to initialise");
}

}  // namespace

std::string digest(std::string_view bytes) {
  ensure_sodium();
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr,
                     0);
  return out;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  require(hex.size() % 2 == 0, "hex string of odd length {}", hex.size());
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    fail("'{}' is not a hex digit", c);
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  }
  return out;
}

std::string peer_id_of(std::string_view public_key) {
  ensure_sodium();
  unsigned char out[20];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(public_key.data()),
                     public_key.size(), nullptr, 0);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

bool verify_signature(std::string_view public_key, std::string_view message,
                      std::string_view signature) {
  ensure_sodium();
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

Identity Identity::generate() {
  ensure_sodium();
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0'), sk(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk.data()),
                      reinterpret_cast<unsigned char*>(sk.data()));
  Identity id;
  id.secret_key_ = sk;
  id.public_key_ = pk;
  id.peer_id_ = peer_id_of(pk);
  return id;
}

Identity Identity::load_or_create(const std::filesystem::path& path) {
  ensure_sodium();
  if (!std::filesystem::exists(path)) {
    Identity id = generate();
    std::ofstream out(path);
    require(out.good(), "cannot create identity file {}", path.string());
    out << to_hex(id.secret_key_) << "\n";
    out.close();
    ::chmod(path.c_str(), 0600);
    return id;
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  std::string sk;
  try {
    sk = from_hex(hex);
  } catch (const Error& e) {
    fail("identity file {} is not a hex Ed25519 secret key: {}", path.string(), e.what());
  }
  require(sk.size() == crypto_sign_SECRETKEYBYTES,
          "identity file {} holds {} bytes, an Ed25519 secret key has {}", path.string(), sk.size(),
          crypto_sign_SECRETKEYBYTES);
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(pk.data()),
                               reinterpret_cast<const unsigned char*>(sk.data()));
  Identity id;
  id.secret_key_ = sk;
  id.public_key_ = pk;
  id.peer_id_ = peer_id_of(pk);
  return id;
}

std::string Identity::sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(secret_key_.data()));
  return sig;
}

std::string Identity::seed() const {
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  crypto_sign_ed25519_sk_to_seed(reinterpret_cast<unsigned char*>(seed.data()),
                                 reinterpret_cast<const unsigned char*>(secret_key_.data()));
  return seed;
}

}  // namespace brigade
