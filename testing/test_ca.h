// A throwaway certificate authority for TLS tests, made with the openssl command-line tool in a test's
// temporary directory (never committed): a CA, a server certificate it signs for localhost and
// 127.0.0.1, and one for another name (wrong.example) to check that clients refuse a name mismatch.
#ifndef SWARM_TESTING_TEST_CA_H_
#define SWARM_TESTING_TEST_CA_H_

#include <string>

#include "absl/status/statusor.h"

namespace swarm::testing {

struct TestCa {
  std::string ca_cert;       // PEM: what clients trust
  std::string server_cert;   // PEM, signed by the CA; SAN DNS:localhost, IP:127.0.0.1
  std::string server_key;
  std::string wrong_cert;    // PEM, signed by the CA; SAN DNS:wrong.example only
  std::string wrong_key;
};

// Writes the files under `dir` (which must exist). Fails when openssl is missing or refuses.
absl::StatusOr<TestCa> MakeTestCa(const std::string& dir);

}  // namespace swarm::testing

#endif  // SWARM_TESTING_TEST_CA_H_
