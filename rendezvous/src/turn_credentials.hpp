// rendezvous — TURN-REST credentials for a TURN server that shares our secret (PROTOCOL.md §4.11).
//
// The scheme coturn accepts with `use-auth-secret` (draft-uberti-behave-turn-rest-00):
//   username = "<unix time at which it expires>:<user>"   (coturn's default separator ':')
//   password = base64(HMAC-SHA1(shared secret, username))
// The TURN server recomputes the password from the username, so neither side stores anything per
// user, and it refuses a username whose time has passed when an allocation is made. The secret
// never leaves this process: clients get only the username and password.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct hmac_sha1_ctx;  // nettle's, kept out of this header: only turn_credentials.cpp sees nettle

namespace rendezvous {

/// One credential: printable ASCII, each within protocol::kMaxCredentialLength.
struct TurnCredential {
    std::string username;
    std::string password;
};

class TurnCredentials {
  public:
    /// `secret`: the TURN server's static-auth-secret, as bytes. Must not be empty.
    explicit TurnCredentials(std::string_view secret);
    ~TurnCredentials();
    TurnCredentials(TurnCredentials&&) noexcept;
    TurnCredentials& operator=(TurnCredentials&&) noexcept;

    /// The credential for `user` that expires at `expires_unix` (seconds since 1970, UTC).
    /// `user` must hold no ':' (a registered name never does).
    [[nodiscard]] TurnCredential make(std::string_view user, std::int64_t expires_unix) const;

  private:
    std::unique_ptr<hmac_sha1_ctx> keyed_;  // the secret, absorbed once: make() copies this state
};

/// The secret held by `text`, the content of a --turn-secret-file: either the secret alone on
/// one line (a trailing newline is dropped), or a coturn configuration file, whose first
/// `static-auth-secret=` line gives it, so that one file serves both servers. Returns an empty
/// string when there is none, and then `why` says so in a few words.
[[nodiscard]] std::string turn_secret_from(std::string_view text, std::string& why);

}  // namespace rendezvous
