// sample_game host — the one line a run prints at the end, and whether it succeeded.
// Modules add fields ("path=lan") and requirements ("connected"); the host prints
//   sample_game: ok name=alice connected=yes path=lan updates=97 remote=(312.0,220.5)
//   sample_game: FAILED (never connected: punch_failed) name=alice connected=no ...
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace host {

class Summary {
  public:
    /// Sets a field; a key set again keeps its place and takes the new value.
    void set(const std::string& key, std::string value);
    /// Records why the run did not do what it was for. The run fails if any is recorded.
    void fail(std::string reason);

    [[nodiscard]] bool ok() const { return failures_.empty(); }
    [[nodiscard]] std::string line() const;

  private:
    std::vector<std::pair<std::string, std::string>> fields_;
    std::vector<std::string> failures_;
};

}  // namespace host
