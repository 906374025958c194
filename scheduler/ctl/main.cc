// egretctl: see scheduler/ctl/egretctl.h.
#include <boost/program_options.hpp>
#include <iostream>

#include "scheduler/client/quotad_client.h"
#include "scheduler/ctl/egretctl.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  egret::ctl::CtlOptions o;
  po::options_description desc("Options");
  desc.add_options()
      ("help,h", "print this help")
      ("socket", po::value(&o.socket)->default_value(egret::quotad::kDefaultSocket),
       "egret-quotad's socket, or tcp://HOST:PORT (MUNGE)")
      ("json", po::bool_switch(&o.json), "print JSON instead of tables")
      ("managed-partitions", po::bool_switch(&o.managed_partitions),
       "check-config: print only the managed partitions, one per line")
      ("timeout", po::value(&o.timeout_s)->default_value(10), "seconds to wait for the daemon");
  po::options_description hidden;
  hidden.add_options()("command", po::value(&o.command))("args", po::value(&o.args));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "egretctl: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: egretctl [options] tenants|shares|usage|queue|leases|budget|why JOBID|reload|"
                 "check-config FILE\n\n"
              << desc << "\n";
    return 0;
  }
  return egret::ctl::RunCtl(o, std::cout, std::cerr);
}
