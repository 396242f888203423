import { join } from 'node:path';
import { parseContainerfile } from '../../core/containerfile';
import { contextPath, inferLiveUpdateRecipe, type RecipeInference } from '../../core/live-update-recipe';
import { parseImageConfig, type ImageConfig } from '../../core/podman-output';
import type { FileReader, PodmanEngine } from '../../core/ports';
import type { LiveProject } from './live-project';

/** A project's live update recipe for its Containerfile as it is now, and the builder image's config. */
export interface Prepared {
  text: string;
  inference: RecipeInference;
  image?: ImageConfig;
  /** The recipe was found but its builder image is not in podman (yet): not cached, looked for again. */
  imageMissing?: boolean;
}

/**
 * The live updater's recipe cache: a recipe is inferred again only when the Containerfile's text, the stage, the build
 * args or the hints changed; the builder image's config is remembered once found.
 */
export function createRecipeCache(files: Pick<FileReader, 'readText' | 'pathKind'>) {
  const recipes = new Map<string, Prepared>();
  const images = new Map<string, Promise<ImageConfig | undefined>>();

  /**
   * The builder image's config, remembered once found. A missing image is not remembered: the first full build pulls
   * it (a new machine has no golang image yet), and the next save must find it there.
   */
  const imageConfig = (engine: PodmanEngine, ref: string) => {
    let found = images.get(ref);
    if (!found) {
      found = engine.exec(['image', 'inspect', ref]).then((result) => (result.exitCode === 0 ? parseImageConfig(result.stdout) : undefined));
      images.set(ref, found);
      void found.then((config) => {
        if (!config && images.get(ref) === found) images.delete(ref);
      });
    }
    return found;
  };

  /** The recipe for the Containerfile as it is now (cached by its text, stage and build args). */
  const recipeFor = async (info: LiveProject): Promise<Prepared> => {
    const text = (await files.readText(info.containerfile)) ?? '';
    const key = JSON.stringify([info.project, info.stage, info.buildArgs, info.hints ?? {}]);
    const cached = recipes.get(key);
    if (cached && cached.text === text) return cached;
    const kinds = new Map<string, 'dir' | 'file' | undefined>();
    for (const copy of parseContainerfile(text).copies) {
      for (const source of copy.sources) {
        const path = contextPath(source);
        kinds.set(path, await files.pathKind(join(info.context, path)));
      }
    }
    const input = { stage: info.stage, buildArgs: info.buildArgs, hints: info.hints, kindOf: (path: string) => kinds.get(path) };
    let inference = inferLiveUpdateRecipe(text, input);
    let image: ImageConfig | undefined;
    let imageMissing = false;
    if (inference.ok) {
      image = await imageConfig(info.engine, inference.recipe.builderImage);
      imageMissing = !image;
      if (!image) inference = { ok: false, reason: `builder image ${inference.recipe.builderImage} is not in podman (build the image once first)` };
      else inference = inferLiveUpdateRecipe(text, { ...input, image: { workdir: image.workdir, env: image.env } });
    }
    const prepared = { text, inference, image, imageMissing };
    // Without its builder image the recipe is not final: the next save looks for the image again.
    if (imageMissing) recipes.delete(key);
    else recipes.set(key, prepared);
    return prepared;
  };

  return { recipeFor };
}
