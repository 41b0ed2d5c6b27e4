// rendezvous — the counters as Prometheus text over loopback HTTP (--metrics-port).
//
// prometheus-cpp's exposer answers scrapes on its own civetweb thread. The server loop stays
// single-threaded: it calls publish() from its own thread, and prometheus-cpp's Gauge and Counter
// values are atomics, so the scrape thread reads them without a data race.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "counters.hpp"

namespace rendezvous {

class Metrics {
  public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// Starts serving GET /metrics on `bind`:`port` (port 0: an ephemeral port).
    /// Returns an empty string, or one sentence saying why it failed.
    [[nodiscard]] std::string open(const std::string& bind, std::uint16_t port);
    /// The port actually listened on, or 0 when not open.
    [[nodiscard]] std::uint16_t port() const;

    /// Copies `c` into the exported values. Call from the server loop only.
    void publish(const Counters& c);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace rendezvous
