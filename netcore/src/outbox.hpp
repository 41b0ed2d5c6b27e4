// Where the parts of a session send their protocol messages.
#pragma once

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"

namespace netcore::detail {

class Outbox {
  public:
    virtual void send(Address to, const protocol::Message& message) = 0;

  protected:
    ~Outbox() = default;
};

}  // namespace netcore::detail
