// TLS without a certificate authority: a client reaches a server only when
// the server's certificate is the peer id it expects, over a real gRPC
// server on loopback.

#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>

#include "brigade.grpc.pb.h"
#include "common/expect_error.h"

namespace brigade {
namespace {

// Answers Ping and counts the calls that reached it.
class PingService final : public rpc::Brigade::Service {
 public:
  grpc::Status Ping(grpc::ServerContext*, const rpc::PingRequest* request,
                    rpc::PingResponse* response) override {
    ++pings;
    response->set_client_time_us(request->client_time_us());
    return grpc::Status::OK;
  }
  std::atomic<int> pings = 0;
};

class TlsServer : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", server_credentials(identity_), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  grpc::Status ping(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = rpc::Brigade::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    rpc::PingRequest request;
    request.set_client_time_us(42);
    rpc::PingResponse response;
    const grpc::Status status = stub->Ping(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(42, response.client_time_us());
    }
    return status;
  }

  const Identity identity_ = Identity::generate();
  PingService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(TlsServer, AClientExpectingTheServersPeerIdGetsThrough) {
  const grpc::Status status = ping(dial(address_, identity_.peer_id(), {}));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(1, service_.pings);
}

TEST_F(TlsServer, TheCredentialsAloneSufficeWithoutTheServerName) {
  const grpc::Status status =
      ping(grpc::CreateChannel(address_, channel_credentials(identity_.peer_id())));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(1, service_.pings);
}

TEST_F(TlsServer, AClientExpectingAnotherPeerIsRefusedBeforeTheHandler) {
  const std::string other = Identity::generate().peer_id();
  const grpc::Status status = ping(dial(address_, other, {}));
  EXPECT_EQ(grpc::StatusCode::UNAVAILABLE, status.error_code()) << status.error_message();
  EXPECT_NE(status.error_message().find("expected peer " + other), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("certificate is peer " + identity_.peer_id()),
            std::string::npos)
      << status.error_message();
  EXPECT_EQ(0, service_.pings);
}

TEST_F(TlsServer, AClientForAnyPeerGetsThroughEncrypted) {
  const grpc::Status status = ping(dial(address_, kAnyPeer, {}));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(1, service_.pings);
}

TEST_F(TlsServer, APlaintextClientCannotTalkToIt) {
  const grpc::Status status =
      ping(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(0, service_.pings);
}

TEST(TlsCertificate, ItsKeyIsTheIdentitysKey) {
  const Identity identity = Identity::generate();
  const TlsCertificate cert = make_certificate(identity);
  EXPECT_NE(cert.cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(cert.key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_EQ(identity.peer_id(), peer_id_of_certificate(cert.cert_pem));
  // Fresh serial and dates, same peer.
  const TlsCertificate again = make_certificate(identity);
  EXPECT_NE(cert.cert_pem, again.cert_pem);
  EXPECT_EQ(identity.peer_id(), peer_id_of_certificate(again.cert_pem));
}

// Flips one bit of the DER body, inside the signed part, and re-encodes PEM.
std::string tamper(const std::string& pem) {
  const std::string begin = "-----BEGIN CERTIFICATE-----\n";
  const std::string end = "-----END CERTIFICATE-----\n";
  std::string base64;
  for (char c : pem.substr(begin.size(), pem.size() - begin.size() - end.size())) {
    if (c != '\n') base64 += c;
  }
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  // Character 200 of 4/3 x DER lies well inside the to-be-signed part (the
  // subject name and validity), far from the length headers.
  const size_t at = 200;
  base64[at] = alphabet[alphabet.find(base64[at]) ^ 1];
  std::string out = begin;
  for (size_t i = 0; i < base64.size(); i += 64) out += base64.substr(i, 64) + "\n";
  return out + end;
}

TEST(TlsCertificate, AnEditedCertificateIsRefused) {
  const TlsCertificate cert = make_certificate(Identity::generate());
  try {
    peer_id_of_certificate(tamper(cert.cert_pem));
    ADD_FAILURE() << "the edited certificate was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(ErrorKind::kMisbehaved, e.kind()) << e.what();
    EXPECT_NE(std::string(e.what()).find("not signed by its own key"), std::string::npos)
        << e.what();
  }
}

// A valid self-signed certificate for an ECDSA P-256 key.
std::string ecdsa_certificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ecdsa"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

TEST(TlsCertificate, AnotherKeyTypeIsInvalid) {
  const std::string pem = ecdsa_certificate();
  ASSERT_NE(pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  test::expect_error([&] { peer_id_of_certificate(pem); }, {"the key is", "Ed25519"});
}

TEST(TlsCertificate, TextThatIsNoCertificateIsInvalid) {
  test::expect_error([] { peer_id_of_certificate("hello"); }, {"not a PEM X.509 certificate"});
  test::expect_error([] { peer_id_of_certificate(""); }, {"not a PEM X.509 certificate"});
}

}  // namespace
}  // namespace brigade
