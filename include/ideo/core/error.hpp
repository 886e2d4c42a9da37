#pragma once
// Errors that name what is at fault: the file, the layer, the record or the parameter.
#include <stdexcept>
#include <string>

namespace ideo {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A bad input (file, record, configuration): the message names it.
class InputError : public Error {
public:
    using Error::Error;
};

}  // namespace ideo
