document.getElementById("app").textContent = "The storefront is being built.";
