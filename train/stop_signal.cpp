#include "train/stop_signal.h"

#include <csignal>
#include <unistd.h>

namespace llmft::train {
namespace {

volatile std::sig_atomic_t g_received = 0;
struct sigaction g_previous_int;
struct sigaction g_previous_term;

extern "C" void on_stop_signal(int signal) {
  if (g_received != 0) {
    // Second signal: the user wants out now. _exit is async-signal-safe; nothing is flushed.
    constexpr char kMessage[] = "\nllmft: second signal, exiting without saving\n";
    ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    (void)ignored;
    _exit(128 + signal);
  }
  g_received = signal;
  constexpr char kMessage[] = "\nllmft: stopping after this step and saving a checkpoint (signal again to abort)\n";
  ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
}

}  // namespace

StopSignal::StopSignal() {
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignal::~StopSignal() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int StopSignal::received() const { return g_received; }

int StopSignal::exit_code() const { return g_received == 0 ? 0 : 128 + g_received; }

}  // namespace llmft::train
