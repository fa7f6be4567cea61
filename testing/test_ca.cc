#include "testing/test_ca.h"

#include "absl/strings/str_cat.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

// P-256 keys: generated in milliseconds, unlike RSA.
constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

// Signs a certificate for `san` with the CA; files are DIR/NAME.key and DIR/NAME.pem.
std::string SignedCertCommands(const std::string& dir, const std::string& name, const std::string& san) {
  const std::string base = absl::StrCat(dir, "/", name);
  return absl::StrCat(
      "printf 'subjectAltName=", san,
      "\\nbasicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=serverAuth\\n' > ",
      base, ".ext && openssl req ", kNewKey, " -keyout ", base, ".key -out ", base,
      ".csr -subj '/CN=", name, "' && openssl x509 -req -in ", base, ".csr -CA ", dir, "/ca.pem -CAkey ",
      dir, "/ca.key -CAcreateserial -days 2 -extfile ", base, ".ext -out ", base, ".pem");
}

}  // namespace

absl::StatusOr<TestCa> MakeTestCa(const std::string& dir) {
  const std::string command = absl::StrCat(
      "set -e; openssl req -x509 ", kNewKey, " -keyout ", dir, "/ca.key -out ", dir,
      "/ca.pem -days 2 -subj '/CN=swarm test CA' -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign; ",
      SignedCertCommands(dir, "server", "DNS:localhost,IP:127.0.0.1"), "; ",
      SignedCertCommands(dir, "wrong", "DNS:wrong.example"));
  std::string output;
  if (int status = ShStatus(command, &output); status != 0) {
    return absl::InternalError(absl::StrCat("making the test CA failed (", status, "): ", output));
  }
  return TestCa{.ca_cert = dir + "/ca.pem",
                .server_cert = dir + "/server.pem",
                .server_key = dir + "/server.key",
                .wrong_cert = dir + "/wrong.pem",
                .wrong_key = dir + "/wrong.key"};
}

}  // namespace swarm::testing
