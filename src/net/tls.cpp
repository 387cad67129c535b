#include "net/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/error.h"

namespace brigade {
namespace {

// OpenSSL objects owned by unique_ptr.
template <auto free_fn>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    free_fn(p);
  }
};
using Bio = std::unique_ptr<BIO, Free<BIO_free>>;
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509_free>>;
using Bignum = std::unique_ptr<BIGNUM, Free<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;

// OpenSSL's queued errors for this thread, oldest first, and clears them.
std::string openssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    out += out.empty() ? "" : "; ";
    out += text;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

// Throws Error with OpenSSL's detail when `ok` is false. For calls that fail
// only on exhausted memory or on a bug of ours, not on input.
void check(bool ok, const char* what) {
  if (!ok) fail("TLS certificate: {} failed: {}", what, openssl_errors());
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  Extension extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  check(extension != nullptr && X509_add_ext(cert, extension.get(), -1) == 1, "adding extension");
}

// Accepts exactly the server whose certificate is `expected_peer_id`'s. The
// check is a few microseconds of CPU, so it runs synchronously.
class PeerIdVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit PeerIdVerifier(std::string expected_peer_id)
      : expected_peer_id_(std::move(expected_peer_id)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    try {
      const std::string peer_id = peer_id_of_certificate(std::string(pem.data(), pem.size()));
      if (peer_id == expected_peer_id_ || expected_peer_id_ == kAnyPeer) {
        *sync_status = grpc::Status::OK;
      } else {
        *sync_status =
            grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                         fmt::format("expected peer {}, the server's certificate is peer {}",
                                     expected_peer_id_, peer_id));
      }
    } catch (const Error& e) {
      *sync_status =
          grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                       fmt::format("expected peer {}, the server's certificate is refused: {}",
                                   expected_peer_id_, e.what()));
    }
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  std::string expected_peer_id_;
};

}  // namespace

TlsCertificate make_certificate(const Identity& identity) {
  std::string seed = identity.seed();
  Key key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  OPENSSL_cleanse(seed.data(), seed.size());
  check(key != nullptr, "loading the Ed25519 key");

  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "setting the version");

  // A random positive 127-bit serial.
  unsigned char serial_bytes[16];
  check(RAND_bytes(serial_bytes, sizeof serial_bytes) == 1, "drawing a serial");
  serial_bytes[0] &= 0x7f;
  Bignum serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  check(serial != nullptr &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
        "setting the serial");

  constexpr long kDay = 24 * 60 * 60;
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kDay) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), 10 * 365 + 3, 0, nullptr) != nullptr,
        "setting the validity");

  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string& peer_id = identity.peer_id();
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(peer_id.c_str()), -1, -1,
                                   0) == 1 &&
            X509_set_issuer_name(cert.get(), name) == 1,
        "setting the names");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_subject_alt_name, "DNS:" + peer_id);

  check(X509_set_pubkey(cert.get(), key.get()) == 1, "setting the key");
  // Ed25519 hashes the message itself: no digest.
  check(X509_sign(cert.get(), key.get(), nullptr) > 0, "self-signing");

  Bio cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  check(cert_bio && key_bio && PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1 &&
            PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                     nullptr) == 1,
        "writing PEM");
  return {bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

std::string peer_id_of_certificate(const std::string& cert_pem) {
  Bio bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  check(bio != nullptr, "BIO_new_mem_buf");
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("TLS certificate: not a PEM X.509 certificate: {}", openssl_errors());
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (!key) fail("TLS certificate: unreadable public key: {}", openssl_errors());
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    const char* type = OBJ_nid2sn(EVP_PKEY_get_id(key));
    fail("TLS certificate: the key is {}, a peer's is Ed25519", type ? type : "of unknown type");
  }
  if (X509_verify(cert.get(), key) != 1) {
    fail(ErrorKind::kMisbehaved, "TLS certificate: not signed by its own key: {}",
         openssl_errors());
  }
  unsigned char raw[32];
  size_t size = sizeof raw;
  check(EVP_PKEY_get_raw_public_key(key, raw, &size) == 1 && size == sizeof raw,
        "reading the Ed25519 key");
  return peer_id_of(std::string_view(reinterpret_cast<const char*>(raw), size));
}

std::shared_ptr<grpc::ServerCredentials> server_credentials(const Identity& identity,
                                                            Transport transport) {
  if (transport == Transport::kPlaintext) return grpc::InsecureServerCredentials();
  const TlsCertificate cert = make_certificate(identity);
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{{cert.key_pem, cert.cert_pem}});
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const std::string& expected_peer_id) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  // No certificate authority: our verifier is the whole check.
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<PeerIdVerifier>(expected_peer_id));
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::Channel> dial(const std::string& address, const std::string& expected_peer_id,
                                    grpc::ChannelArguments args, Transport transport) {
  if (transport == Transport::kPlaintext) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  if (expected_peer_id != kAnyPeer) args.SetSslTargetNameOverride(expected_peer_id);
  return grpc::CreateCustomChannel(address, channel_credentials(expected_peer_id), args);
}

}  // namespace brigade
