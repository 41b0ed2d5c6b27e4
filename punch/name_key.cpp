// The --name-key file: netcore's key file (read it, or create it privately and atomically).
#include "name_key.hpp"

namespace punch {

std::optional<netcore::SecretKey> load_or_create_name_key(const std::string& path, bool& created,
                                                          std::string& error) {
    netcore::KeyFile file = netcore::load_or_create_key_file(path);
    created = file.created;
    error = std::move(file.error);
    return file.key;
}

}  // namespace punch
