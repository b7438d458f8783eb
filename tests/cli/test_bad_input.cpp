// --version and --help through the real binary (the bad-input cases and their valid-checkpoint
// control are in test_error_catalogue.cpp, one per error class of docs/errors.md).
#include <string>

#include "tests/support/catch.h"
#include "tests/support/run_cli.h"

using llmft::test::run_llmft;
using llmft::test::Contains;

TEST_CASE("cli: --version reports llmft, libtorch and CUDA", "[cli]") {
  const auto result = run_llmft({"--version"});
  REQUIRE(result.exit_code == 0);
  REQUIRE_THAT(result.out, Contains("llmft " LLMFT_VERSION));
  REQUIRE_THAT(result.out, Contains("libtorch"));
  REQUIRE_THAT(result.out, Contains("CUDA"));
}

TEST_CASE("cli: --help exits 0 with the usage on stdout and a usage mistake is an error line", "[cli]") {
  const auto help = run_llmft({"eval", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("--model"));
  CHECK(help.err.empty());
  const auto mistake = run_llmft({"inspect"});
  CHECK(mistake.exit_code == 2);
  REQUIRE(mistake.err_lines().size() == 1);
  CHECK_THAT(mistake.err_lines()[0], Contains("llmft: error: "));
}
