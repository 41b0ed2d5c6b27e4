// rendezvous — the replies one datagram produced, encoded and addressed, not yet sent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"

namespace rendezvous {

/// One encoded datagram and where it goes.
struct Datagram {
    netcore::Address to;
    std::array<std::uint8_t, netcore::protocol::kMaxDatagramSize> bytes{};
    std::size_t size = 0;

    [[nodiscard]] std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }
};

/// Collects what Server::handle wants sent. Server::poll sends it; unit tests read it.
class Outbox {
  public:
    /// Queues bytes already encoded (a sealed signal, a STUN response). Returns false, keeping
    /// nothing, if they are longer than a Datagram holds.
    bool push_bytes(netcore::Address to, std::span<const std::uint8_t> bytes);

    [[nodiscard]] std::span<const Datagram> datagrams() const { return items_; }
    [[nodiscard]] std::size_t size() const { return items_.size(); }
    [[nodiscard]] bool empty() const { return items_.empty(); }
    /// Forgets the datagrams from index `first` on (the answers a limit refused).
    void truncate(std::size_t first) {
        if (first < items_.size()) items_.resize(first);
    }
    /// Forgets the datagrams but keeps the memory, so a busy server does not allocate.
    void clear() { items_.clear(); }

  private:
    std::vector<Datagram> items_;
};

}  // namespace rendezvous
