// rendezvous — owned names: which Ed25519 key owns a name, and when its owner was last seen
// (docs/PROTOCOL.md §4.13). A binding outlives its owner's runs: it holds the name for
// `name_hold` after the owner was last seen, and a file keeps it across restarts of the server.
//
// Kept apart from the Registry: an Entry stays small (registry.hpp), and only names whose owner
// asked for a binding cost the 32-byte key here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "netcore/protocol.hpp"

namespace rendezvous {

/// One owned name: its owner key and when the owner last registered it (unix seconds).
struct Binding {
    netcore::protocol::OwnerKey key{};
    std::int64_t last_seen = 0;
};

/// The table of owned names. Time is passed in (unix seconds); nothing here reads a clock.
class Owners {
  public:
    /// last_seen moves at most this often (s): refreshes stay cheap, and the file is rewritten
    /// at most this often per owner who stays online. A hold is at most this much shorter.
    static constexpr std::int64_t kLastSeenStep = 60;

    /// `hold`: how long a binding lives after its owner was last seen. `max`: the cap.
    Owners(std::chrono::seconds hold, std::size_t max) : hold_(hold.count()), max_(max) {}

    /// The binding of `name` still held at `now`, or nullptr. Valid until the next non-const call.
    [[nodiscard]] const Binding* find(std::string_view name, std::int64_t now) const;

    /// The binding of `name`, expired or not, or nullptr.
    [[nodiscard]] const Binding* lookup(std::string_view name) const;
    /// True when bind(name, ...) would succeed: the name is in the table, or there is room.
    [[nodiscard]] bool can_bind(std::string_view name) const {
        return bindings_.size() < max_ || bindings_.find(name) != bindings_.end();
    }

    /// Binds `name` to `key` as seen at `now` (a new binding, or a moved last_seen). False, and
    /// nothing stored, when the name is new and the table is at its cap.
    bool bind(std::string_view name, const netcore::protocol::OwnerKey& key, std::int64_t now);

    /// The owner of `name` registered again at `now`: moves last_seen if it is kLastSeenStep
    /// behind. False when `name` is not bound to `key` (then nothing changed).
    bool touch(std::string_view name, const netcore::protocol::OwnerKey& key, std::int64_t now);

    /// Drops the bindings expired at `now` whose name `online` does not say is held by its owner
    /// right now. Returns how many went.
    template <typename Online>
    std::size_t sweep(std::int64_t now, Online online) {
        std::size_t gone = 0;
        for (auto it = bindings_.begin(); it != bindings_.end();) {
            if (expired(it->second, now) && !online(it->first)) {
                it = bindings_.erase(it);
                ++gone;
            } else {
                ++it;
            }
        }
        if (gone > 0) dirty_ = true;
        return gone;
    }

    /// Bindings held, counting expired ones not yet swept.
    [[nodiscard]] std::size_t size() const { return bindings_.size(); }
    /// True when the table changed since the last load() or save().
    [[nodiscard]] bool dirty() const { return dirty_; }

    // ---- the file (docs/RENDEZVOUS.md "The names file") -----------------------------------------

    /// Reads `path` into an empty table, dropping bindings already expired at `now`. A missing
    /// file is an empty table. Returns an empty string, or one sentence: what is wrong, and where.
    [[nodiscard]] std::string load(const std::string& path, std::int64_t now);
    /// Writes the table to `path` atomically: `path`.tmp (mode 0600), fsync, rename, and the
    /// directory synced. On failure the old file is untouched. Returns an empty string, or why.
    [[nodiscard]] std::string save(const std::string& path);
    /// The table as the file holds it.
    [[nodiscard]] std::string to_text() const;

  private:
    [[nodiscard]] bool expired(const Binding& b, std::int64_t now) const {
        return now - b.last_seen > hold_;
    }

    std::int64_t hold_;
    std::size_t max_;
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, Binding, NameHash, std::equal_to<>> bindings_;
    bool dirty_ = false;
};

}  // namespace rendezvous
