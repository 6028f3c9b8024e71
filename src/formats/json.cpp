// Boost.JSON in header-only mode: its implementation is compiled here, once.
#include <boost/json/src.hpp>
