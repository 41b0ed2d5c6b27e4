// rendezvous — one non-blocking UDP socket through ENet's portable layer (enet_socket_*).
#pragma once

#include <enet/enet.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "netcore/address.hpp"

namespace rendezvous {

/// A bound, non-blocking IPv4 UDP socket. Addresses are netcore's (host byte order).
class UdpSocket {
  public:
    UdpSocket() = default;
    ~UdpSocket() { close(); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    /// Binds to `bind` (ip 0 = every interface, port 0 = an ephemeral port).
    /// Returns an empty string, or one sentence saying why it failed.
    [[nodiscard]] std::string open(netcore::Address bind);
    void close();
    [[nodiscard]] bool is_open() const { return socket_ != ENET_SOCKET_NULL; }

    /// The address actually bound (the real port when 0 was asked for).
    [[nodiscard]] netcore::Address local() const { return local_; }

    enum class Wait : std::uint8_t { readable, timeout, interrupted, error };
    /// Waits until a datagram can be read, at most `timeout_ms`. A signal ends the wait early.
    [[nodiscard]] Wait wait(std::uint32_t timeout_ms);

    /// Reads one datagram into `buffer`.
    /// @retval >0 its size; `from` is its source
    /// @retval 0  nothing to read (ENet cannot tell this from an empty datagram)
    /// @retval -1 an error; the datagram, if any, is consumed (one larger than `buffer` is)
    [[nodiscard]] int receive(std::span<std::uint8_t> buffer, netcore::Address& from);

    /// Sends one datagram. Returns false if the system did not take all of it.
    bool send(netcore::Address to, std::span<const std::uint8_t> bytes);

  private:
    ENetSocket socket_ = ENET_SOCKET_NULL;
    netcore::Address local_;
    bool enet_initialized_ = false;
};

}  // namespace rendezvous
