/** Options of the `@prism/nx-podman:init` generator. */
export interface InitGeneratorSchema {
  /** Name of the inferred image build target, written to the plugin's options when it is registered. @default "podman-build" */
  buildTargetName?: string;
  /** Name of the inferred container run target. @default "podman-run" */
  runTargetName?: string;
  /** Name of the inferred watch target. @default "watch-reload" */
  watchTargetName?: string;
  /** Do not format the files the generator changed. @default false */
  skipFormat?: boolean;
}
