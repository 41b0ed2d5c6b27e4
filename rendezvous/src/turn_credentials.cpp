// TURN-REST credentials: HMAC-SHA1 and base64 from nettle.
#include "turn_credentials.hpp"

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/sha1.h>

#include <array>

namespace rendezvous {

TurnCredentials::TurnCredentials(std::string_view secret)
    : keyed_(std::make_unique<hmac_sha1_ctx>()) {
    hmac_sha1_set_key(keyed_.get(), secret.size(),
                      reinterpret_cast<const std::uint8_t*>(secret.data()));
}

TurnCredentials::~TurnCredentials() = default;
TurnCredentials::TurnCredentials(TurnCredentials&&) noexcept = default;
TurnCredentials& TurnCredentials::operator=(TurnCredentials&&) noexcept = default;

TurnCredential TurnCredentials::make(std::string_view user, std::int64_t expires_unix) const {
    TurnCredential out;
    out.username = std::to_string(expires_unix);
    out.username += ':';
    out.username += user;

    hmac_sha1_ctx ctx = *keyed_;
    hmac_sha1_update(&ctx, out.username.size(),
                     reinterpret_cast<const std::uint8_t*>(out.username.data()));
    std::array<std::uint8_t, SHA1_DIGEST_SIZE> digest{};
    hmac_sha1_digest(&ctx, digest.size(), digest.data());

    out.password.resize(BASE64_ENCODE_RAW_LENGTH(digest.size()));  // 28 characters, with padding
    base64_encode_raw(out.password.data(), digest.size(), digest.data());
    return out;
}

namespace {

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string turn_secret_from(std::string_view text, std::string& why) {
    // A coturn configuration: "static-auth-secret=VALUE" (coturn trims blanks around both).
    constexpr std::string_view kKey = "static-auth-secret";
    for (std::string_view rest = text; !rest.empty();) {
        const auto end = rest.find('\n');
        const std::string_view line = trim(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        if (!line.starts_with(kKey)) continue;
        const std::string_view after = trim(line.substr(kKey.size()));
        if (after.empty() || after.front() != '=') continue;  // another key with this prefix
        const std::string_view value = trim(after.substr(1));
        if (value.empty()) why = "its static-auth-secret line is empty";
        return std::string(value);
    }
    // The secret alone: everything but the line end(s) a text editor or `echo` adds.
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (text.empty()) {
        why = "it is empty";
        return {};
    }
    if (text.find('\n') != std::string_view::npos) {
        why = "it has several lines and none is static-auth-secret=...";
        return {};
    }
    return std::string(text);
}

}  // namespace rendezvous
