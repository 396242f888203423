import { readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { pluginGenerator } from './generator';

// What each protocol's plugin is made of (the files common to both are in generator.spec.ts).
describe('plugin generator protocols', () => {
  let tree: Tree;

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
  });

  it('protocol=grpc (the default) writes a gRPC service: health, reflection and its own Plugin service', async () => {
    await pluginGenerator(tree, { name: 'postgres', skipFormat: true });
    const main = tree.read('plugins/postgres/main.go', 'utf-8')!;
    expect(main).toContain('package main');
    expect(main).toContain('"prism/core"');
    expect(main).toContain('pluginv1 "prism/postgres/proto/plugin/v1"');
    expect(main).toMatch(/name\s+= "postgres"/);
    expect(main).toMatch(/defaultPort = 9090/);
    expect(main).toContain('core.LoadConfig(name, defaultPort)');
    expect(main).toContain('return &pluginv1.InfoResponse{Plugin: name, Core: core.Version, Message: message}, nil');
    const server = tree.read('plugins/postgres/server.go', 'utf-8')!;
    expect(server).toContain('healthpb.RegisterHealthServer(server, healthServer)');
    expect(server).toContain('reflection.Register(server)');
    // SIGTERM: NOT_SERVING, then a graceful stop (GOAWAY) bounded by the shutdown timeout.
    expect(server).toContain('signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)');
    expect(server.indexOf('healthServer.Shutdown()')).toBeLessThan(server.indexOf('server.GracefulStop()'));
    expect(tree.read('plugins/postgres/proto/plugin/v1/plugin.proto', 'utf-8')).toContain('rpc Info(InfoRequest) returns (InfoResponse);');
    expect(tree.read('plugins/postgres/proto/plugin/v1/plugin.pb.go', 'utf-8')).toContain('package pluginv1');
    expect(tree.read('plugins/postgres/proto/plugin/v1/plugin_grpc.pb.go', 'utf-8')).toContain('func RegisterPluginServer(');
    for (const file of ['main.go', 'server.go', 'go.mod', 'README.md']) expect(tree.read(`plugins/postgres/${file}`, 'utf-8')).not.toContain('<%');
    // The README says how to call it and how to regenerate the code.
    const readme = tree.read('plugins/postgres/README.md', 'utf-8')!;
    expect(readme).toContain('grpcurl -plaintext 127.0.0.1:9090 grpc.health.v1.Health/Check');
    expect(readme).toContain(
      'protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative proto/plugin/v1/plugin.proto',
    );
  });

  it('protocol=http keeps the HTTP/JSON plugin: stdlib only, /healthz, an http health check', async () => {
    await pluginGenerator(tree, { name: 'legacy', protocol: 'http', skipFormat: true });

    expect(tree.read('plugins/legacy/go.mod', 'utf-8')).toBe(
      'module prism/legacy\n\ngo 1.26.0\n\nrequire prism/core v0.0.0\n\nreplace prism/core => ../core\n',
    );
    const main = tree.read('plugins/legacy/main.go', 'utf-8')!;
    expect(main).toContain('mux.Handle("/healthz", core.HealthHandler(name))');
    expect(main).toContain('core.Serve(cfg, mux, logger)');
    expect(main).not.toContain('grpc');
    for (const file of ['go.sum', 'server.go', 'proto/plugin/v1/plugin.proto']) expect(tree.exists(`plugins/legacy/${file}`)).toBe(false);
    const target = readProjectConfiguration(tree, 'legacy').targets!['podman-run'];
    expect(target.options.healthCheck).toEqual({ http: 'http://127.0.0.1:9090/healthz' });
    expect(target.configurations!.debug.healthCheck).toEqual({ http: 'http://127.0.0.1:10090/healthz' });
    expect(tree.read('plugins/legacy/README.md', 'utf-8')).toContain('curl http://127.0.0.1:9090/');
  });
});
