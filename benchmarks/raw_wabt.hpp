// A module run through WABT's own interpreter API, with no metering and no cordon in between:
// the baseline the interpreter backend's benchmarks compare against.
#pragma once

#include <cordon/wasm/module.hpp>

#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cordon_bench {

struct raw_wabt {
    wabt::interp::Store store;
    wabt::interp::Module::Ptr mod;
    wabt::interp::Instance::Ptr instance;
    wabt::interp::Thread thread{store};

    /// With `host_import`, the module's one import is app.tick (i32) -> i32, answering v & 1.
    explicit raw_wabt(const cordon::wasm::module& m, bool host_import = false) {
        namespace interp = wabt::interp;
        wabt::Errors errors;
        interp::ModuleDesc desc;
        wabt::ReadBinaryOptions options;
        if (wabt::Failed(interp::ReadBinaryInterp("bench", m.bytes().data(), m.bytes().size(), options, &errors, &desc)))
            throw std::runtime_error("cannot read " + m.name());
        mod = interp::Module::New(store, std::move(desc));
        interp::RefVec imports;
        if (host_import) {
            imports.push_back(interp::HostFunc::New(store, interp::FuncType{{wabt::Type::I32}, {wabt::Type::I32}},
                                                    [](interp::Thread&, const interp::Values& p, interp::Values& r,
                                                       interp::Trap::Ptr*) {
                                                        r[0] = interp::Value::Make(p[0].Get<std::int32_t>() & 1);
                                                        return wabt::Result::Ok;
                                                    })
                                  .ref());
        }
        interp::Trap::Ptr trap;
        instance = interp::Instance::Instantiate(store, mod.ref(), imports, &trap);
        if (!instance) throw std::runtime_error("cannot instantiate " + m.name());
    }
    wabt::interp::Func::Ptr find(const std::string& name) {
        const auto& exports = mod->export_types();
        for (std::size_t i = 0; i < exports.size(); ++i)
            if (exports[i].name == name) return store.UnsafeGet<wabt::interp::Func>(instance->exports()[i]);
        throw std::runtime_error("no export " + name);
    }
    std::int64_t call(wabt::interp::Func::Ptr& f, std::int32_t arg) {
        wabt::interp::Values params{wabt::interp::Value::Make(arg)}, results;
        wabt::interp::Trap::Ptr trap;
        if (wabt::Failed(f->Call(thread, params, results, &trap))) throw std::runtime_error("trap");
        return f->type().results[0] == wabt::Type::I64 ? results[0].Get<std::int64_t>() : results[0].Get<std::int32_t>();
    }
};

} // namespace cordon_bench
