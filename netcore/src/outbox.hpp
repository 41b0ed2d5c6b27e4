// Where the parts of a session send their protocol messages.
#pragma once

#include <cstdint>
#include <span>

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"

namespace netcore::detail {

/// Where a part sends datagrams it made whole (sealed envelopes, TURN messages).
class RawOutbox {
  public:
    virtual void send_raw(Address to, std::span<const std::uint8_t> bytes) = 0;

  protected:
    ~RawOutbox() = default;
};

/// Where the puncher sends its probes: the session seals them for the peer.
class Outbox {
  public:
    virtual void send(Address to, const protocol::Message& message) = 0;

  protected:
    ~Outbox() = default;
};

}  // namespace netcore::detail
