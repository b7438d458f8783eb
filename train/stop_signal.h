#pragma once
// SIGINT / SIGTERM during training: the first one asks the loop to finish its current optimizer step,
// write a resumable checkpoint and exit (130 / 143); a second one ends the process at once.
namespace llmft::train {

class StopSignal {
 public:
  StopSignal();   // installs the handlers
  ~StopSignal();  // restores the previous ones
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  int received() const;  // 0, SIGINT or SIGTERM
  // The conventional exit status for the received signal (128 + signal number).
  int exit_code() const;
};

}  // namespace llmft::train
